--TEST--
Reverse resolution of the loopback address works after the identity switch
--FILE--
<?php
var_dump(is_string(gethostbyaddr('127.0.0.1')));
?>
--EXPECT--
bool(true)
