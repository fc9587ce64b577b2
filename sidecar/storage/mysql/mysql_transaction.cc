#include "storage/mysql/mysql_transaction.h"

namespace warden {

MysqlTransaction::MysqlTransaction(MysqlConnection& conn) : conn_(conn) {
  conn_.Execute("START TRANSACTION");
}

MysqlTransaction::~MysqlTransaction() {
  if (finished_) return;
  try {
    conn_.Execute("ROLLBACK");
  } catch (...) {
    // The connection is gone or the server refused: either way nothing was committed.
  }
}

void MysqlTransaction::Commit() {
  conn_.Execute("COMMIT");
  finished_ = true;
}

void MysqlTransaction::Rollback() {
  finished_ = true;
  conn_.Execute("ROLLBACK");
}

}  // namespace warden
