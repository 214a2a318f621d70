--TEST--
A script runs and its output is the response body
--FILE--
<?php
echo "Hello, ", php_sapi_name(), "\n";
var_dump(1 + 1);
?>
--EXPECTF--
Hello, cgi-fcgi
int(2)
