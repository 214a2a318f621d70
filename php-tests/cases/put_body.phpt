--TEST--
A PUT body is read from php://input
--PUT--
Content-Type: text/plain
line one
line two
--FILE--
<?php
echo $_SERVER['REQUEST_METHOD'], "\n";
var_dump(file_get_contents('php://input'));
?>
--EXPECT--
PUT
string(17) "line one
line two"
