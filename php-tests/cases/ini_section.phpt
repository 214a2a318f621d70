--TEST--
--INI-- settings apply to the test's directory
--INI--
precision=5
default_charset=ISO-8859-1
--FILE--
<?php
echo ini_get('precision'), ' ', ini_get('default_charset'), "\n";
echo M_PI, "\n";
?>
--EXPECT--
5 ISO-8859-1
3.1416
