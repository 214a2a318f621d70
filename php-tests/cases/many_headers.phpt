--TEST--
150 headers from header() go out
--FILE--
<?php
for ($i = 0; $i < 150; $i++) header("X-H$i: $i");
echo "ok\n";
?>
--EXPECT--
ok
--EXPECTHEADERS--
X-H149: 149
