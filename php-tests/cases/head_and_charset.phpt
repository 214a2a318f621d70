--TEST--
default_charset is in the Content-Type PHP sends
--FILE--
<?php echo "x\n";
--EXPECT--
x
--EXPECTHEADERS--
Content-Type: text/html; charset=UTF-8
