// Plane geometry on rings of [x, y] points (longitude, latitude; unclosed), for checking a hole before it is
// added to a zone being drawn. Planar on purpose: the server validates zones with GEOS in EPSG:4326, which is also
// planar, so a hole accepted here is one the server finds valid.

function orientation(p, q, r) {
  const value = (q[1] - p[1]) * (r[0] - q[0]) - (q[0] - p[0]) * (r[1] - q[1]);
  return value > 0 ? 1 : value < 0 ? -1 : 0;
}

function onSegment(p, q, r) {
  // q lies on segment pr, given that p, q and r are collinear.
  return Math.min(p[0], r[0]) <= q[0] && q[0] <= Math.max(p[0], r[0]) && Math.min(p[1], r[1]) <= q[1] && q[1] <= Math.max(p[1], r[1]);
}

// Whether segments ab and cd meet, touching included: a hole touching the zone's edge or another hole is refused
// too, since a ring touching another one along an edge makes an invalid polygon.
export function segmentsMeet(a, b, c, d) {
  const o1 = orientation(a, b, c);
  const o2 = orientation(a, b, d);
  const o3 = orientation(c, d, a);
  const o4 = orientation(c, d, b);
  if (o1 !== o2 && o3 !== o4) return true;
  return (o1 === 0 && onSegment(a, c, b)) || (o2 === 0 && onSegment(a, d, b)) || (o3 === 0 && onSegment(c, a, d)) || (o4 === 0 && onSegment(c, b, d));
}

function edges(ring) {
  return ring.map((point, i) => [point, ring[(i + 1) % ring.length]]);
}

export function ringsMeet(first, second) {
  const other = edges(second);
  return edges(first).some(([a, b]) => other.some(([c, d]) => segmentsMeet(a, b, c, d)));
}

// Even-odd ray casting; a point exactly on the boundary may go either way, callers rule that out with ringsMeet.
export function pointInRing(point, ring) {
  const [x, y] = point;
  let inside = false;
  for (let i = 0, j = ring.length - 1; i < ring.length; j = i, i += 1) {
    const [xi, yi] = ring[i];
    const [xj, yj] = ring[j];
    if (yi > y !== yj > y && x < ((xj - xi) * (y - yi)) / (yj - yi) + xi) inside = !inside;
  }
  return inside;
}

// Why `hole` cannot become an interior ring of the polygon whose exterior is `shell` and whose holes so far are
// `holes`: "outside" (not strictly inside the shell), "overlaps" (crosses, touches, contains or lies in another
// hole), or null when it can.
export function holeProblem(hole, shell, holes = []) {
  if (hole.length < 3) return "outside";
  if (ringsMeet(hole, shell) || !pointInRing(hole[0], shell)) return "outside";
  for (const other of holes) {
    if (ringsMeet(hole, other) || pointInRing(hole[0], other) || pointInRing(other[0], hole)) return "overlaps";
  }
  return null;
}
