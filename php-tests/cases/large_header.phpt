--TEST--
A 9,000-byte header from header() goes out (mod_cgi's limits are not PHP's)
--FILE--
<?php
header('X-Big: ' . str_repeat('b', 9000));
echo "ok\n";
?>
--EXPECT--
ok
