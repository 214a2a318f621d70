--TEST--
A multipart form without files fills $_POST
--POST_RAW--
Content-Type: multipart/form-data; boundary=XyZ
--XyZ
Content-Disposition: form-data; name="first"

one
--XyZ
Content-Disposition: form-data; name="second[]"

two
--XyZ--
--FILE--
<?php
var_dump($_POST, $_FILES);
?>
--EXPECT--
array(2) {
  ["first"]=>
  string(3) "one"
  ["second"]=>
  array(1) {
    [0]=>
    string(3) "two"
  }
}
array(0) {
}
