--TEST--
$_REQUEST merges GET and POST by variables_order
--GET--
a=get&b=get
--POST--
b=post&c=post
--FILE--
<?php
ksort($_REQUEST);
var_dump($_REQUEST);
?>
--EXPECT--
array(3) {
  ["a"]=>
  string(3) "get"
  ["b"]=>
  string(4) "post"
  ["c"]=>
  string(4) "post"
}
