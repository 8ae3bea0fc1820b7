# The unit group of Z/nZ and its structure for small n.
# Written for the proofpile samples.

UnitsInfo := function(n)
    local U;
    U := Units(ZmodnZ(n));
    return [n, Size(U), StructureDescription(U)];
end;

for n in [5 .. 12] do
    Print(UnitsInfo(n), "\n");
od;
