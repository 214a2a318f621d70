--TEST--
CONTENT_LENGTH and CONTENT_TYPE describe a POST body
--POST--
x=1234567
--FILE--
<?php
echo $_SERVER['CONTENT_LENGTH'], ' ', $_SERVER['CONTENT_TYPE'], "\n";
?>
--EXPECT--
9 application/x-www-form-urlencoded
