--TEST--
A warning is shown in the output with display_errors on
--FILE--
<?php
$a = [];
echo $a['missing'] ?? 'default', "\n";
echo intdiv(7, 2), "\n";
echo $undefined_variable;
echo "end\n";
?>
--EXPECTF--
default
3

Warning: Undefined variable $undefined_variable in %s on line %d
end
