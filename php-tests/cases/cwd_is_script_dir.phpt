--TEST--
The working directory is the script's directory
--FILE--
<?php
var_dump(getcwd() === __DIR__);
?>
--EXPECT--
bool(true)
