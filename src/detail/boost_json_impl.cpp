// Boost.JSON's implementation, compiled into the library with its flags. Parsing webhook bodies
// is on the server's hot path, and this lets the compiler optimise and inline the parser with
// the rest of the library instead of calling the shared library through the PLT.
#include <boost/json/src.hpp>
