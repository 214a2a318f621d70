--TEST--
A fatal error is shown when display_errors is on
--INI--
display_errors=1
--FILE--
<?php
echo "before\n";
undefined_function_xyz();
echo "after\n";
?>
--EXPECTF--
before
%AFatal error: Uncaught Error: Call to undefined function undefined_function_xyz() in %s:%d
Stack trace:
#0 {main}
  thrown in %s on line %d
