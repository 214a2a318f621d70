--TEST--
A script cannot switch back to root
--FILE--
<?php
var_dump(posix_setuid(0), posix_seteuid(0), posix_getuid() === 0);
?>
--EXPECT--
bool(false)
bool(false)
bool(false)
