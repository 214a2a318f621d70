--TEST--
An uncaught exception with display_errors off shows nothing of it
--INI--
display_errors=0
--FILE--
<?php
echo "start\n";
throw new RuntimeException('secret detail');
?>
--EXPECT--
start
