#pragma once

#include "storage/mysql/mysql_connection.h"

namespace warden {

// A transaction on one connection: START TRANSACTION now, COMMIT on Commit(), ROLLBACK on
// Rollback() or when it goes out of scope unfinished (an exception, an early return):
//   {
//     MysqlTransaction tx(conn);
//     insert.Execute({id, name});
//     remove.Execute({id});
//     tx.Commit();
//   }
// A MysqlRetryableError (deadlock, lock wait timeout) means: let the transaction roll back and
// run the whole block again. Not copyable or movable; one at a time per connection.
class MysqlTransaction {
 public:
  // Throws the MysqlError family when START TRANSACTION fails.
  explicit MysqlTransaction(MysqlConnection& conn);
  // Rolls back unless finished; never throws (a broken connection has rolled back already).
  ~MysqlTransaction();
  MysqlTransaction(const MysqlTransaction&) = delete;
  MysqlTransaction& operator=(const MysqlTransaction&) = delete;

  // Throws the MysqlError family; after a failed COMMIT the destructor still rolls back.
  void Commit();
  void Rollback();
  bool finished() const { return finished_; }

 private:
  MysqlConnection& conn_;
  bool finished_ = false;
};

}  // namespace warden
