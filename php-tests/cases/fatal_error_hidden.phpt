--TEST--
A fatal error is not shown when display_errors is off
--INI--
display_errors=0
--FILE--
<?php
echo "before\n";
undefined_function_xyz();
echo "after\n";
?>
--EXPECT--
before
