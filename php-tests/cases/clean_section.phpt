--TEST--
--CLEAN-- runs after the test
--FILE--
<?php file_put_contents(__DIR__ . '/made.txt', 'x'); echo file_exists(__DIR__ . '/made.txt') ? "made\n" : "no\n";
--CLEAN--
<?php unlink(__DIR__ . '/made.txt');
--EXPECT--
made
