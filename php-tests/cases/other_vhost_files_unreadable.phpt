--TEST--
One vhost's script cannot read another vhost's files
--BOB_FILE--
<?php // bob's secret
--FILE--
<?php
$bob = dirname(__DIR__, 3) . '/itkp-bob/htdocs/' . basename(__DIR__) . '/other_vhost_files_unreadable.php';
var_dump(file_exists(dirname($bob)) && is_readable($bob), @file_get_contents($bob));
?>
--EXPECT--
bool(false)
bool(false)
