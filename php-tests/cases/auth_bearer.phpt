--TEST--
A Bearer token reaches PHP (APIs read it from the Authorization header)
--HEADERS--
Authorization: Bearer abc.def.ghi
--FILE--
<?php
$headers = array_change_key_case(getallheaders());
echo $headers['authorization'], "\n";
var_dump(isset($_SERVER['PHP_AUTH_USER']));
?>
--EXPECT--
Bearer abc.def.ghi
bool(false)
