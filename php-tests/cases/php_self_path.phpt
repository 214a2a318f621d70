--TEST--
PHP_SELF, SCRIPT_NAME and __FILE__ agree on the script
--FILE--
<?php
var_dump($_SERVER['PHP_SELF'] === '/' . basename(__DIR__) . '/php_self_path.php');
var_dump(realpath($_SERVER['SCRIPT_FILENAME']) === __FILE__);
var_dump(isset($_SERVER['PATH_INFO']));
?>
--EXPECT--
bool(true)
bool(true)
bool(false)
