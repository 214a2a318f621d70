--TEST--
Basic credentials reach PHP as PHP_AUTH_USER and PHP_AUTH_PW, as under mod_php
--HEADERS--
Authorization: Basic YWxpY2U6b3BlbiBzZXNhbWU=
--FILE--
<?php
var_dump($_SERVER['PHP_AUTH_USER'], $_SERVER['PHP_AUTH_PW'], getallheaders()['Authorization']);
?>
--EXPECT--
string(5) "alice"
string(11) "open sesame"
string(30) "Basic YWxpY2U6b3BlbiBzZXNhbWU="
