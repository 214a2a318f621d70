--TEST--
Cookies reach $_COOKIE
--COOKIE--
a=1; b=two%20words; c[x]=y
--FILE--
<?php
var_dump($_COOKIE);
?>
--EXPECT--
array(3) {
  ["a"]=>
  string(1) "1"
  ["b"]=>
  string(9) "two words"
  ["c"]=>
  array(1) {
    ["x"]=>
    string(1) "y"
  }
}
