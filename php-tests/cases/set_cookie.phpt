--TEST--
setcookie() sends a Set-Cookie header
--FILE--
<?php
setcookie('flavour', 'oat meal', ['path' => '/', 'httponly' => true]);
echo "set\n";
?>
--EXPECT--
set
--EXPECTHEADERS--
Set-Cookie: flavour=oat%20meal; path=/; HttpOnly
