--TEST--
REMOTE_ADDR and REMOTE_PORT name the client
--FILE--
<?php
var_dump($_SERVER['REMOTE_ADDR'], $_SERVER['REMOTE_PORT'] > 0, $_SERVER['SERVER_ADDR']);
?>
--EXPECT--
string(9) "127.0.0.1"
bool(true)
string(9) "127.0.0.1"
