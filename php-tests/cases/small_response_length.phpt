--TEST--
A small PHP response gets a Content-Length, as Apache's gives it
--FILE--
<?php echo "hi\n";
--EXPECT--
hi
--EXPECTHEADERS--
Content-Length: 3
