--TEST--
$_SERVER has what scripts rely on
--GET--
q=1
--FILE--
<?php
$s = $_SERVER;
echo $s['REQUEST_METHOD'], "\n", $s['QUERY_STRING'], "\n", $s['SCRIPT_NAME'] === $s['PHP_SELF'] ? 'same' : 'differ', "\n";
echo basename($s['SCRIPT_FILENAME']), "\n", $s['REQUEST_URI'] === $s['SCRIPT_NAME'] . '?q=1' ? 'uri ok' : 'uri bad', "\n";
echo $s['SERVER_PROTOCOL'], "\n", $s['GATEWAY_INTERFACE'], "\n", $s['REMOTE_ADDR'], "\n";
var_dump(is_dir($s['DOCUMENT_ROOT']), str_starts_with(__FILE__, $s['DOCUMENT_ROOT']), $s['HTTPS'] ?? null);
var_dump(is_numeric($s['REQUEST_TIME']), is_float($s['REQUEST_TIME_FLOAT']));
?>
--EXPECT--
GET
q=1
same
server_basics.php
uri ok
HTTP/1.1
CGI/1.1
127.0.0.1
bool(true)
bool(true)
NULL
bool(true)
bool(true)
