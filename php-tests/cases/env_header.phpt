--TEST--
--ENV-- HTTP_ variables go out as request headers
--ENV--
HTTP_ACCEPT_ENCODING=identity
HTTP_X_FROM_ENV=yes
--FILE--
<?php
echo $_SERVER['HTTP_ACCEPT_ENCODING'], ' ', $_SERVER['HTTP_X_FROM_ENV'], "\n";
?>
--EXPECT--
identity yes
