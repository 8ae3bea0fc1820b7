// Whitespace trimming helpers; no numerics.
// Written for the proofpile samples.
#include <string>

std::string trim(const std::string& s)
{
    const auto first = s.find_first_not_of(" \t\n");
    if (first == std::string::npos)
        return "";
    const auto last = s.find_last_not_of(" \t\n");
    return s.substr(first, last - first + 1);
}
