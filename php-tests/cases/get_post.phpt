--TEST--
GET and POST arrays
--GET--
a=1&b[]=x&b[]=y
--POST--
c=3&d=%20four
--FILE--
<?php
var_dump($_GET, $_POST, $_SERVER['REQUEST_METHOD']);
?>
--EXPECT--
array(2) {
  ["a"]=>
  string(1) "1"
  ["b"]=>
  array(2) {
    [0]=>
    string(1) "x"
    [1]=>
    string(1) "y"
  }
}
array(2) {
  ["c"]=>
  string(1) "3"
  ["d"]=>
  string(5) " four"
}
string(4) "POST"
