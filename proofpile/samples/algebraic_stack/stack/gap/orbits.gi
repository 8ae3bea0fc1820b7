# Orbit lengths of a permutation group acting on points.
# Written for the proofpile samples.

OrbitLengthsOf := function(G, pts)
    return List(Orbits(G, pts), Length);
end;

G := Group((1, 2, 3), (4, 5));
Print(OrbitLengthsOf(G, [1 .. 6]), "\n");
