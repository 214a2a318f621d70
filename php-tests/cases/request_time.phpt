--TEST--
REQUEST_TIME is this request's time
--FILE--
<?php var_dump(abs(time() - $_SERVER['REQUEST_TIME']) < 5);
--EXPECT--
bool(true)
