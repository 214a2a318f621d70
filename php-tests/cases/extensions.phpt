--TEST--
--EXTENSIONS-- names what the test needs
--EXTENSIONS--
json
posix
--FILE--
<?php echo json_encode(['uid' => posix_geteuid() > 0]), "\n";
--EXPECT--
{"uid":true}
