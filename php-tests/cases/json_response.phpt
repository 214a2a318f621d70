--TEST--
A JSON API response keeps its Content-Type
--FILE--
<?php
header('Content-Type: application/json');
echo json_encode(['ok' => true, 'user' => posix_getpwuid(posix_geteuid())['name']]);
?>
--EXPECT--
{"ok":true,"user":"itkp-alice"}
--EXPECTHEADERS--
Content-Type: application/json
