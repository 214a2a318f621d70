--TEST--
getallheaders() gives the request headers as sent
--HEADERS--
X-Custom-One: 1
Accept-Language: de
--FILE--
<?php
$h = getallheaders();
echo $h['X-Custom-One'], ' ', $h['Accept-Language'], "\n";
var_dump(isset($h['Host']), isset($h['Content-Length']));
?>
--EXPECT--
1 de
bool(true)
bool(false)
