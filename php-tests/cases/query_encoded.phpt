--TEST--
An encoded query string arrives as sent and decoded into $_GET
--GET--
name=caf%C3%A9&sp=a+b&pct=100%25&arr[k]=v&empty=
--FILE--
<?php
echo $_SERVER['QUERY_STRING'], "\n";
var_dump($_GET);
?>
--EXPECT--
name=caf%C3%A9&sp=a+b&pct=100%25&arr[k]=v&empty=
array(5) {
  ["name"]=>
  string(5) "café"
  ["sp"]=>
  string(3) "a b"
  ["pct"]=>
  string(4) "100%"
  ["arr"]=>
  array(1) {
    ["k"]=>
    string(1) "v"
  }
  ["empty"]=>
  string(0) ""
}
