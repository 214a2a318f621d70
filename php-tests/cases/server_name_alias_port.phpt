--TEST--
A Host with another name and a forwarded port gives that name and port
--HEADERS--
Host: www.alice.phpt:8080
--FILE--
<?php
echo $_SERVER['SERVER_NAME'], ' ', $_SERVER['SERVER_PORT'], ' ', $_SERVER['HTTP_HOST'], "\n";
?>
--EXPECT--
www.alice.phpt 8080 www.alice.phpt:8080
