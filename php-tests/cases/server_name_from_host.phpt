--TEST--
SERVER_NAME and SERVER_PORT come from the Host header (UseCanonicalName Off)
--FILE--
<?php
echo $_SERVER['SERVER_NAME'], "\n";
var_dump($_SERVER['SERVER_PORT'] === explode(':', $_SERVER['HTTP_HOST'])[1]);
?>
--EXPECT--
alice.phpt
bool(true)
