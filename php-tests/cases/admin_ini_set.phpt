--TEST--
ini_set() cannot override a php_admin_value
--FILE--
<?php
echo ini_get('max_execution_time'), "\n";
var_dump(ini_set('max_execution_time', '5'));
echo ini_get('max_execution_time'), "\n";
var_dump(ini_set('open_basedir', '/'));
var_dump(ini_set('precision', '10') !== false);
?>
--EXPECT--
17
bool(false)
17
bool(false)
bool(true)
