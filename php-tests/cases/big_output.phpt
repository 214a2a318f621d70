--TEST--
A 10 MB response arrives whole
--FILE--
<?php
$chunk = str_repeat('0123456789abcdef', 65536);
for ($i = 0; $i < 10; $i++) echo $chunk;
?>
--EXPECTREGEX--
(0123456789abcdef){655360}
