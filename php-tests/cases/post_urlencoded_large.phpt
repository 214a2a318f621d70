--TEST--
A large urlencoded POST body is parsed whole
--FILE--
<?php
$n = (int)($_SERVER['CONTENT_LENGTH'] ?? 0);
echo strlen($_POST['big'] ?? ''), "\n";
?>
--POST--
big=aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa
--EXPECT--
100
