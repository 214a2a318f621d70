--TEST--
A GET without a body has no CONTENT_LENGTH, as under mod_php
--FILE--
<?php
var_dump(isset($_SERVER['CONTENT_LENGTH']), file_get_contents('php://input'));
?>
--EXPECT--
bool(false)
string(0) ""
