--TEST--
open_basedir set by php_admin_value keeps the script out of another vhost's files
--FILE--
<?php
echo ini_get('open_basedir') === dirname(__DIR__) . ':/tmp' ? "set\n" : "not set: " . ini_get('open_basedir') . "\n";
var_dump(@file_get_contents('/etc/hostname'));
var_dump(@file_get_contents(dirname(__DIR__, 3) . '/itkp-bob/htdocs/index.html'));
var_dump(file_put_contents(__DIR__ . '/inside.txt', 'ok'));
?>
--EXPECT--
set
bool(false)
bool(false)
int(2)
