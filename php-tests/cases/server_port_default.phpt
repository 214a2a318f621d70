--TEST--
A Host header without a port gives SERVER_PORT 80
--HEADERS--
Host: alice.phpt
--FILE--
<?php
echo $_SERVER['SERVER_NAME'], ' ', $_SERVER['SERVER_PORT'], "\n";
?>
--EXPECT--
alice.phpt 80
