--TEST--
A script cannot signal processes of the server or of root
--FILE--
<?php
var_dump(posix_kill(1, 0), posix_get_last_error() === 1);
?>
--EXPECT--
bool(false)
bool(true)
