--TEST--
connection_status() and ignore_user_abort() answer as under mod_php
--FILE--
<?php
var_dump(connection_status(), ignore_user_abort(true), ignore_user_abort());
?>
--EXPECT--
int(0)
int(0)
int(1)
