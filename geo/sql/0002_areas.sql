-- Areas: lineage, geodesic size and subdivided pieces are derived in the database so that every writer
-- (ORM, admin, bulk SQL, COPY) keeps them right.

CREATE OR REPLACE FUNCTION geo_area_derive() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.parent_id IS NULL THEN
        NEW.lineage := ARRAY[NEW.id];
    ELSE
        SELECT lineage || NEW.id INTO NEW.lineage FROM geo_area WHERE id = NEW.parent_id;
        IF NEW.id = ANY(NEW.lineage[1:array_length(NEW.lineage, 1) - 1]) THEN
            RAISE EXCEPTION 'area % cannot be its own ancestor', NEW.code USING ERRCODE = 'check_violation';
        END IF;
    END IF;
    IF TG_OP = 'INSERT' OR NOT ST_Equals(NEW.geom, OLD.geom) THEN
        NEW.area_km2 := ST_Area(NEW.geom::geography) / 1e6;
    END IF;
    RETURN NEW;
END $$;

DROP TRIGGER IF EXISTS geo_area_derive ON geo_area;
CREATE TRIGGER geo_area_derive BEFORE INSERT OR UPDATE OF parent_id, geom ON geo_area
    FOR EACH ROW EXECUTE FUNCTION geo_area_derive();

CREATE OR REPLACE FUNCTION geo_area_after_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' OR NEW.geom IS DISTINCT FROM OLD.geom OR NEW.level <> OLD.level THEN
        DELETE FROM geo_areapiece WHERE area_id = NEW.id;
        INSERT INTO geo_areapiece (area_id, level, geom)
        SELECT NEW.id, NEW.level, piece
        FROM ST_Subdivide(NEW.geom, 96) AS piece
        WHERE GeometryType(piece) = 'POLYGON';
    END IF;
    IF TG_OP = 'UPDATE' AND NEW.lineage IS DISTINCT FROM OLD.lineage THEN
        -- Children re-derive their lineage through their own BEFORE trigger.
        UPDATE geo_area SET parent_id = parent_id WHERE parent_id = NEW.id;
    END IF;
    RETURN NULL;
END $$;

DROP TRIGGER IF EXISTS geo_area_after_change ON geo_area;
CREATE TRIGGER geo_area_after_change AFTER INSERT OR UPDATE ON geo_area
    FOR EACH ROW EXECUTE FUNCTION geo_area_after_change();

-- The lowest-level area containing a point (boundaries included; ties broken by id so it is deterministic).
CREATE OR REPLACE FUNCTION geo_lowest_area(point geometry) RETURNS bigint
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT area_id FROM geo_areapiece
    WHERE ST_Intersects(geom, point)
    ORDER BY level DESC, area_id
    LIMIT 1
$$;

-- Tables whose rows have a `location` point and an `area_id` assigned from it.
CREATE TABLE IF NOT EXISTS geo_located_table (table_name regclass PRIMARY KEY);

CREATE OR REPLACE FUNCTION geo_assign_area() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.area_id := geo_lowest_area(NEW.location);
    RETURN NEW;
END $$;

-- Make a table's area follow its location on every insert and every location change. Bulk loaders that
-- compute area_id themselves (set-based) skip the per-row work: the insert trigger only fires when
-- area_id is NULL.
CREATE OR REPLACE FUNCTION geo_track_location(target regclass) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE format('DROP TRIGGER IF EXISTS geo_assign_area_insert ON %s', target);
    EXECUTE format('DROP TRIGGER IF EXISTS geo_assign_area_update ON %s', target);
    EXECUTE format(
        'CREATE TRIGGER geo_assign_area_insert BEFORE INSERT ON %s FOR EACH ROW '
        'WHEN (NEW.location IS NOT NULL AND NEW.area_id IS NULL) EXECUTE FUNCTION geo_assign_area()', target);
    EXECUTE format(
        'CREATE TRIGGER geo_assign_area_update BEFORE UPDATE OF location ON %s FOR EACH ROW '
        'WHEN (NEW.location IS NOT NULL AND NEW.location IS DISTINCT FROM OLD.location) '
        'EXECUTE FUNCTION geo_assign_area()', target);
    INSERT INTO geo_located_table VALUES (target) ON CONFLICT DO NOTHING;
END $$;

-- After boundaries change: re-assign every located row whose area is no longer the right one, set-based.
CREATE OR REPLACE FUNCTION geo_reassign_all_locations() RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
    target regclass;
    changed bigint;
    total bigint := 0;
BEGIN
    FOR target IN SELECT table_name FROM geo_located_table LOOP
        EXECUTE format(
            'WITH best AS ('
            '  SELECT t.id, (SELECT p.area_id FROM geo_areapiece p WHERE ST_Intersects(p.geom, t.location)'
            '                ORDER BY p.level DESC, p.area_id LIMIT 1) AS area_id'
            '  FROM %s t WHERE t.location IS NOT NULL)'
            ' UPDATE %s t SET area_id = best.area_id FROM best'
            ' WHERE t.id = best.id AND t.area_id IS DISTINCT FROM best.area_id', target, target);
        GET DIAGNOSTICS changed = ROW_COUNT;
        total := total + changed;
    END LOOP;
    RETURN total;
END $$;
