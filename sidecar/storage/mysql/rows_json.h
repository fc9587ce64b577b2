#pragma once

#include <nlohmann/json.hpp>

#include "storage/mysql/mysql_rows.h"

namespace warden {

// A result set as JSON: an array with one object per row, keyed by column name.
// Integers and floats become JSON numbers, NULL null, everything else a string (DECIMAL
// stays exact as text; dates as the server writes them). Binary columns are written as text
// when they are valid UTF-8, else as base64 in an object {"base64": "..."}.
nlohmann::json RowsToJson(const MysqlRows& rows);

}  // namespace warden
